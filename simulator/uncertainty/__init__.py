"""Uncertainty: sampled futures, Monte Carlo evaluation of an allocation, sensitivity indices."""
