"""Object classes from features: a random forest trained on objects a person put in classes."""

from .model import (
    ClassifierError,
    ClassifierFile,
    ForestParams,
    ObjectClassifier,
    class_counts,
    feature_columns,
)

__all__ = ["ClassifierError", "ClassifierFile", "ForestParams", "ObjectClassifier",
           "class_counts", "feature_columns"]
