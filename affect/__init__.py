"""affectlab affect: the emotion module, its channels, lesions and the agent."""

from affect import frustration, hunger, social  # noqa: F401  (register the channels)
from affect.channels import (
    CHANNELS,
    OUTPUTS,
    Channel,
    ChannelOutput,
    LearningSignals,
    get_channel,
    register_channel,
)
from affect.lesion import INTACT, ONSETS, Lesion, LesionData, stack_lesions
from affect.module import AffectModule, AffectOutput, compose

__all__ = [
    "CHANNELS",
    "OUTPUTS",
    "Channel",
    "ChannelOutput",
    "LearningSignals",
    "get_channel",
    "register_channel",
    "INTACT",
    "ONSETS",
    "Lesion",
    "LesionData",
    "stack_lesions",
    "AffectModule",
    "AffectOutput",
    "compose",
]
