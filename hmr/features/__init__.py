"""Per-frame ResNet features f_t of the person crop (the features stage).

``crop`` square person crops and their affine maps; ``backbone`` the torchvision ResNet and its
weights (SPIN / torchvision checkpoints); ``extract`` the stage (one sequence -> features file);
``spin_head``, ``pretrain_data``, ``pretrain`` the DAG's own backbone pretraining as a frame-based
SMPL regressor (SPIN-style); ``commands`` the CLI subcommands.
"""
