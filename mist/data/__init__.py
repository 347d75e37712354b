"""The data wing; its main modules in the order a dataset is made:

distributions.py, gaussian.py, other_families.py: joint distributions with known MI;
transforms.py: MI-preserving maps; mixture_bank.py (+ mixture_bank.npz): precomputed mixture MI;
prior.py: the training prior (PriorConfig, sample_dataset); splits.py: who may see what (seeds,
held-out families and transforms, mixture-bank entries per split); stream.py: seeded,
shape-bucketed batches (make_batch, MetaDatasetStream); suites.py: the frozen evaluation suites;
shards.py: batches on disk.
"""
