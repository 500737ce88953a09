"""The solution engine: one small pure numpy function per formula of the ELEN 521 sheet.

Modules follow the sheet's sections. `CONTRACTS` maps each contract id of
docs/FORMULAS.md to the functions that implement it.
"""

from .contracts import CONTRACTS
from .losses import mse, binary_cross_entropy, categorical_cross_entropy
from .activations import (
    sigmoid, softmax, relu, tanh, relu6,
    sigmoid_grad, tanh_grad, relu_grad, recommended_init,
)
from .optimization import sgd_step, mlp_backprop, softmax_ce_grad, condition_number, gd_on_quadratic
from .batchnorm import batchnorm_forward
from .regularization import l2_objective, l1_objective, l2_update, dropout, early_stopping
from .initialization import xavier_uniform_bound, xavier_uniform, he_normal_std, he_normal, init_bias
from .cnn import (
    conv_output_size, same_padding, conv2d, conv_param_count, maxpool2d,
    conv1x1, depthwise_conv2d, depthwise_param_count, network_summary,
)
from .nlp import term_frequency, inverse_document_frequency, tf_idf, cosine_similarity, analogy
from .word2vec import skipgram_positive_prob, skipgram_objective, noise_distribution
from .rnn import rnn_step, rnn_output, rnn_forward, clip_grad_norm, lstm_step, gru_step
from .attention import attention_scores, attention_weights, context_vector, scaled_dot_product_attention
from .vae import vae_kl, reparameterize, elbo
from .style import gram_matrix, content_loss, style_layer_loss, style_transfer_loss
from .detection import iou, nms
from .architectures import residual_block, euler_step, mobilenet_bottleneck_params, mobilenet_bottleneck
from .gan import gan_value, discriminator_loss

FUNCTIONS = sorted({name for names in CONTRACTS.values() for name in names})
