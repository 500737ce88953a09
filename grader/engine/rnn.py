"""(stub: being written)"""

def rnn_step(*args, **kwargs):
    raise NotImplementedError('rnn_step')


def rnn_output(*args, **kwargs):
    raise NotImplementedError('rnn_output')


def rnn_forward(*args, **kwargs):
    raise NotImplementedError('rnn_forward')


def clip_grad_norm(*args, **kwargs):
    raise NotImplementedError('clip_grad_norm')


def lstm_step(*args, **kwargs):
    raise NotImplementedError('lstm_step')


def gru_step(*args, **kwargs):
    raise NotImplementedError('gru_step')
