"""(stub: being written)"""

def skipgram_positive_prob(*args, **kwargs):
    raise NotImplementedError('skipgram_positive_prob')


def skipgram_objective(*args, **kwargs):
    raise NotImplementedError('skipgram_objective')


def noise_distribution(*args, **kwargs):
    raise NotImplementedError('noise_distribution')
