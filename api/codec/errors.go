package codec

import "errors"

// ErrCodec wraps every encoding and decoding failure.
var ErrCodec = errors.New("codec: cannot encode or decode value")
