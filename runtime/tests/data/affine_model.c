/* A tiny model implementing the nnc runtime ABI (runtime/ABI.md), used by
 * the end-to-end tests: y = 2 * x + 1 over an input x of shape [1, 4],
 * computed in 4 tasks by nnc_parallel_for, and a second output
 * s = sum(x) of shape [1]. The arena is used as scratch to check it is
 * writable and 64-byte aligned. */
#include <stdint.h>
#include <stddef.h>

void nnc_parallel_for(void (*body)(void *ctx, int64_t t, int64_t ntasks), void *ctx, int64_t ntasks);
void nnc_node_begin(int32_t node);
void nnc_node_end(int32_t node);

const char nnc_model_meta[] =
    "nnc-meta 1\n"
    "network affine\n"
    "input x 2 1 4\n"
    "output y 2 1 4\n"
    "output s 1 1\n"
    "arena 256\n"
    "threads-hint 2\n"
    "node 0 affine y 0.0001\n"
    "node 1 sum s 0.00005\n";

struct affine_ctx { const float *x; float *y; float *scratch; };

static void affine_body(void *p, int64_t t, int64_t ntasks) {
    struct affine_ctx *c = p;
    (void)ntasks;
    c->scratch[t] = c->x[t];
    c->y[t] = 2.0f * c->scratch[t] + 1.0f;
}

void nnc_model_forward(const float *const *inputs, float *const *outputs, uint8_t *arena) {
    struct affine_ctx c = { inputs[0], outputs[0], (float *)arena };
    if (((uintptr_t)arena & 63) != 0 || ((uintptr_t)inputs[0] & 63) != 0) {
        outputs[1][0] = -12345.0f; /* alignment violated: visible in the output */
        return;
    }
    nnc_node_begin(0);
    nnc_parallel_for(affine_body, &c, 4);
    nnc_node_end(0);
    nnc_node_begin(1);
    float s = 0.0f;
    for (int i = 0; i < 4; i++) s += inputs[0][i];
    outputs[1][0] = s;
    nnc_node_end(1);
}
