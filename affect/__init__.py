"""affectlab affect: the emotion module, its channels, lesions and the agent."""


from affect import (  # noqa: F401  (register the channels)
    _guard,  # noqa: F401  (first: a shadowed package stops here)
    frustration,
    hunger,
    social,
)
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
