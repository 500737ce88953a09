"""(stub: being written)"""

def xavier_uniform_bound(*args, **kwargs):
    raise NotImplementedError('xavier_uniform_bound')


def xavier_uniform(*args, **kwargs):
    raise NotImplementedError('xavier_uniform')


def he_normal_std(*args, **kwargs):
    raise NotImplementedError('he_normal_std')


def he_normal(*args, **kwargs):
    raise NotImplementedError('he_normal')


def init_bias(*args, **kwargs):
    raise NotImplementedError('init_bias')
