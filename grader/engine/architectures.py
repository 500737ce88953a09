"""(stub: being written)"""

def residual_block(*args, **kwargs):
    raise NotImplementedError('residual_block')


def euler_step(*args, **kwargs):
    raise NotImplementedError('euler_step')


def mobilenet_bottleneck_params(*args, **kwargs):
    raise NotImplementedError('mobilenet_bottleneck_params')


def mobilenet_bottleneck(*args, **kwargs):
    raise NotImplementedError('mobilenet_bottleneck')
