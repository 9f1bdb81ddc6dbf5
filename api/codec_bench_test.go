package api

import "github.com/warpcache/warp/api/codec"

// JSONCodecForBench is the default struct codec, for benchmarks.
func JSONCodecForBench() codec.Codec[user] { return codec.Default[user]() }
