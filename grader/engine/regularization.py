"""(stub: being written)"""

def l2_objective(*args, **kwargs):
    raise NotImplementedError('l2_objective')


def l1_objective(*args, **kwargs):
    raise NotImplementedError('l1_objective')


def l2_update(*args, **kwargs):
    raise NotImplementedError('l2_update')


def dropout(*args, **kwargs):
    raise NotImplementedError('dropout')


def early_stopping(*args, **kwargs):
    raise NotImplementedError('early_stopping')
