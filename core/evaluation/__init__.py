"""Evaluation: the ZSL/GZSL protocol, ranking metrics, the models scored and the results table."""
