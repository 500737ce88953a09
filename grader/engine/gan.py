"""(stub: being written)"""

def gan_value(*args, **kwargs):
    raise NotImplementedError('gan_value')


def discriminator_loss(*args, **kwargs):
    raise NotImplementedError('discriminator_loss')
