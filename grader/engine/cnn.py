"""(stub: being written)"""

def conv_output_size(*args, **kwargs):
    raise NotImplementedError('conv_output_size')


def same_padding(*args, **kwargs):
    raise NotImplementedError('same_padding')


def conv2d(*args, **kwargs):
    raise NotImplementedError('conv2d')


def conv_param_count(*args, **kwargs):
    raise NotImplementedError('conv_param_count')


def maxpool2d(*args, **kwargs):
    raise NotImplementedError('maxpool2d')


def conv1x1(*args, **kwargs):
    raise NotImplementedError('conv1x1')


def depthwise_conv2d(*args, **kwargs):
    raise NotImplementedError('depthwise_conv2d')


def depthwise_param_count(*args, **kwargs):
    raise NotImplementedError('depthwise_param_count')


def network_summary(*args, **kwargs):
    raise NotImplementedError('network_summary')
