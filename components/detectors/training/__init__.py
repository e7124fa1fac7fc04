"""How the deep detectors train: the single-model loop, the stacked (vmapped) loop for
copies of one method, the optimiser, the batch samplers, the stopping rule, the shared
autoencoder pretraining, the compiled step (`compiled_step`) and the fused optimiser and
random-number kernels (`torch_kernels`)."""
