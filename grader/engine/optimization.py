"""(stub: being written)"""

def sgd_step(*args, **kwargs):
    raise NotImplementedError('sgd_step')


def mlp_backprop(*args, **kwargs):
    raise NotImplementedError('mlp_backprop')


def softmax_ce_grad(*args, **kwargs):
    raise NotImplementedError('softmax_ce_grad')


def condition_number(*args, **kwargs):
    raise NotImplementedError('condition_number')


def gd_on_quadratic(*args, **kwargs):
    raise NotImplementedError('gd_on_quadratic')
