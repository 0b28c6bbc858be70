"""Training: masked PPO with one policy shared by all banks (``interbank train``)."""
