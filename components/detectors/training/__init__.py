"""How the deep detectors train: the single-model loop, the stacked (vmapped) loop for
copies of one method, the optimiser, the batch samplers, the stopping rule and the shared
autoencoder pretraining."""
