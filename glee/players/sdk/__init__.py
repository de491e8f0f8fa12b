"""Competition agents (the PyPI package `glee-sdk`) as glee players: the family codecs between glee's
observations and actions and the SDK's game dicts and moves, and the in-process `sdk` player."""

from glee.players.sdk.codec import InvalidMove, SdkCodec, SdkView, codec, decode, game_dict, register_codec
from glee.players.sdk.player import HIDDEN, AgentSeat, SdkPlayer, StrategyFunction, load_strategy, thread_pool

__all__ = [
    "HIDDEN",
    "AgentSeat",
    "InvalidMove",
    "SdkCodec",
    "SdkPlayer",
    "SdkView",
    "StrategyFunction",
    "codec",
    "decode",
    "game_dict",
    "load_strategy",
    "register_codec",
    "thread_pool",
]
