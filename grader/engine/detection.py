"""(stub: being written)"""

def iou(*args, **kwargs):
    raise NotImplementedError('iou')


def nms(*args, **kwargs):
    raise NotImplementedError('nms')
