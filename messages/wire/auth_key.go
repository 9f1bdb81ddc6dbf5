package wire

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Bounds of a [Key]'s secret.
const (
	// MinSecretLen is the shortest secret a [Keyring] accepts: 256 bits.
	MinSecretLen = 32
	// MaxSecretLen is the longest.
	MaxSecretLen = 1024
)

// Key is one cluster key: an id, sent in every sealed message so that the
// receiver picks the right key, and a secret of [MinSecretLen] to
// [MaxSecretLen] random bytes shared by every node of the cluster.
//
// Its text form, read by [ParseKeys] and written by [Key.Encode], is
// "<id>:<secret>": the id in decimal (0 to 255), the secret in hex or in
// base64. String and GoString never show the secret, so a Key printed by
// mistake leaks nothing.
type Key struct {
	// ID names the key in sealed messages.
	ID byte
	// Secret is the key material.
	Secret []byte
}

// GenerateKey returns a key with id and a secret of [MinSecretLen] bytes
// from crypto/rand.
func GenerateKey(id byte) Key {
	k := Key{ID: id, Secret: make([]byte, MinSecretLen)}
	_, _ = rand.Read(k.Secret) // never fails (crypto/rand.Read)
	return k
}

// Encode returns the key's text form, "<id>:<secret in hex>", which
// [ParseKeys] reads. It contains the secret: store it as a secret.
func (k Key) Encode() string {
	return strconv.Itoa(int(k.ID)) + ":" + hex.EncodeToString(k.Secret)
}

// String describes the key without its secret.
func (k Key) String() string {
	return fmt.Sprintf("wire.Key{ID: %d, Secret: %d bytes redacted}", k.ID, len(k.Secret))
}

// GoString describes the key without its secret, for %#v.
func (k Key) GoString() string { return k.String() }

func (k Key) check() error {
	if len(k.Secret) < MinSecretLen || len(k.Secret) > MaxSecretLen {
		return fmt.Errorf("%w: key %d: secret of %d bytes (want %d to %d)", ErrBadKey, k.ID, len(k.Secret), MinSecretLen, MaxSecretLen)
	}
	return nil
}

// ParseKeys parses one or two keys in their text form ([Key]), separated
// by commas or line breaks; blank lines and lines starting with # are
// skipped, so the content of a key file parses as it is. The secret is read
// as hex if it is an even number of hex digits, otherwise as base64
// (standard or URL alphabet, padded or not). The first key seals (see
// [NewKeyring]). Errors wrap [ErrBadKey] and never include a secret.
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parseKey(line)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %s", ErrBadKey, len(keys)+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 || len(keys) > 2 {
		return nil, fmt.Errorf("%w: %d keys (want 1 or 2)", ErrBadKey, len(keys))
	}
	if len(keys) == 2 && keys[0].ID == keys[1].ID {
		return nil, fmt.Errorf("%w: two keys with id %d", ErrBadKey, keys[0].ID)
	}
	return keys, nil
}

// parseKey parses "<id>:<secret>"; its error messages never quote the
// input, which holds the secret.
func parseKey(s string) (Key, error) {
	idText, secret, ok := strings.Cut(s, ":")
	if !ok {
		return Key{}, fmt.Errorf("want <id>:<secret>")
	}
	id, err := strconv.ParseUint(strings.TrimSpace(idText), 10, 8)
	if err != nil {
		return Key{}, fmt.Errorf("id is not a number from 0 to 255")
	}
	b, err := decodeSecret(strings.TrimSpace(secret))
	if err != nil {
		return Key{}, err
	}
	k := Key{ID: byte(id), Secret: b}
	if len(b) < MinSecretLen || len(b) > MaxSecretLen {
		return Key{}, fmt.Errorf("secret of %d bytes (want %d to %d)", len(b), MinSecretLen, MaxSecretLen)
	}
	return k, nil
}

func decodeSecret(s string) ([]byte, error) {
	if len(s)%2 == 0 && strings.Trim(s, "0123456789abcdefABCDEF") == "" {
		return hex.DecodeString(s)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("secret is neither hex nor base64")
}

// ReadKeyFile parses the keys in the file at path with [ParseKeys]. Keep
// the file readable by Warp's user only.
func ReadKeyFile(path string) ([]Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	keys, err := ParseKeys(string(b))
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return keys, nil
}

// LoadKeys reads the keys from the environment variable name, or, if that
// is unset, from the file named by name+"_FILE" (the convention of
// container secrets). Setting both, or neither, is an error wrapping
// [ErrBadKey].
func LoadKeys(name string) ([]Key, error) {
	val, inline := os.LookupEnv(name)
	file, fromFile := os.LookupEnv(name + "_FILE")
	switch {
	case inline && fromFile:
		return nil, fmt.Errorf("%w: both %s and %s_FILE are set", ErrBadKey, name, name)
	case fromFile:
		return ReadKeyFile(file)
	case !inline:
		return nil, fmt.Errorf("%w: neither %s nor %s_FILE is set", ErrBadKey, name, name)
	}
	keys, err := ParseKeys(val)
	if err != nil {
		return nil, fmt.Errorf("%w (variable %s)", err, name)
	}
	return keys, nil
}
