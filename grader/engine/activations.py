"""(stub: being written)"""

def sigmoid(*args, **kwargs):
    raise NotImplementedError('sigmoid')


def softmax(*args, **kwargs):
    raise NotImplementedError('softmax')


def relu(*args, **kwargs):
    raise NotImplementedError('relu')


def tanh(*args, **kwargs):
    raise NotImplementedError('tanh')


def relu6(*args, **kwargs):
    raise NotImplementedError('relu6')


def sigmoid_grad(*args, **kwargs):
    raise NotImplementedError('sigmoid_grad')


def tanh_grad(*args, **kwargs):
    raise NotImplementedError('tanh_grad')


def relu_grad(*args, **kwargs):
    raise NotImplementedError('relu_grad')


def recommended_init(*args, **kwargs):
    raise NotImplementedError('recommended_init')
