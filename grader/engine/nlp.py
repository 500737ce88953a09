"""(stub: being written)"""

def term_frequency(*args, **kwargs):
    raise NotImplementedError('term_frequency')


def inverse_document_frequency(*args, **kwargs):
    raise NotImplementedError('inverse_document_frequency')


def tf_idf(*args, **kwargs):
    raise NotImplementedError('tf_idf')


def cosine_similarity(*args, **kwargs):
    raise NotImplementedError('cosine_similarity')


def analogy(*args, **kwargs):
    raise NotImplementedError('analogy')
