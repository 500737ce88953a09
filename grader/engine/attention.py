"""(stub: being written)"""

def attention_scores(*args, **kwargs):
    raise NotImplementedError('attention_scores')


def attention_weights(*args, **kwargs):
    raise NotImplementedError('attention_weights')


def context_vector(*args, **kwargs):
    raise NotImplementedError('context_vector')


def scaled_dot_product_attention(*args, **kwargs):
    raise NotImplementedError('scaled_dot_product_attention')
