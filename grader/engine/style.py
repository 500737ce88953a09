"""(stub: being written)"""

def gram_matrix(*args, **kwargs):
    raise NotImplementedError('gram_matrix')


def content_loss(*args, **kwargs):
    raise NotImplementedError('content_loss')


def style_layer_loss(*args, **kwargs):
    raise NotImplementedError('style_layer_loss')


def style_transfer_loss(*args, **kwargs):
    raise NotImplementedError('style_transfer_loss')
