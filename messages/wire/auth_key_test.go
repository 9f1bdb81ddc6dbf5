package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secret32 is a recognisable 32-byte secret; none of the error messages
// may contain it in any encoding.
var secret32 = []byte("0123456789abcdefghijklmnopqrstuv")

func TestParseKeys(t *testing.T) {
	t.Parallel()
	other := bytes.Repeat([]byte{0xee}, 48)
	hx, b64 := hex.EncodeToString(secret32), base64.StdEncoding.EncodeToString(secret32)
	tests := []struct {
		name string
		in   string
		want []Key
	}{
		{"hex", "1:" + hx, []Key{{1, secret32}}},
		{"upper hex", "1:" + strings.ToUpper(hx), []Key{{1, secret32}}},
		{"base64", "7:" + b64, []Key{{7, secret32}}},
		{"raw base64", "7:" + base64.RawStdEncoding.EncodeToString(secret32), []Key{{7, secret32}}},
		{"url base64", "7:" + base64.RawURLEncoding.EncodeToString(other), []Key{{7, other}}},
		{"id 0 and 255", "0:" + hx + ",255:" + b64, []Key{{0, secret32}, {255, secret32}}},
		{"file", "# cluster key\n\n 2 : " + hx + " \r\n# old\n1:" + hex.EncodeToString(other) + "\n", []Key{{2, secret32}, {1, other}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseKeys(tt.in)
			if err != nil {
				t.Fatalf("ParseKeys: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d keys; want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].ID != tt.want[i].ID || !bytes.Equal(got[i].Secret, tt.want[i].Secret) {
					t.Fatalf("key %d: got id %d secret %x; want id %d secret %x", i, got[i].ID, got[i].Secret, tt.want[i].ID, tt.want[i].Secret)
				}
			}
		})
	}
}

func TestParseKeysInvalid(t *testing.T) {
	t.Parallel()
	hx := hex.EncodeToString(secret32)
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"only comments", "# nothing\n\n"},
		{"no id", hx},
		{"id not a number", "one:" + hx},
		{"id 256", "256:" + hx},
		{"negative id", "-1:" + hx},
		{"short secret", "1:" + hx[:62]},
		{"long secret", "1:" + strings.Repeat(hx, 33)},
		{"not hex nor base64", "1:" + string(secret32) + "!"},
		{"odd hex", "1:" + hx + "0"},
		{"three keys", "1:" + hx + ",2:" + hx + ",3:" + hx},
		{"duplicate id", "1:" + hx + "\n1:" + hx},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys, err := ParseKeys(tt.in)
			if !errors.Is(err, ErrBadKey) || keys != nil {
				t.Fatalf("got %v, %v; want nil, ErrBadKey", keys, err)
			}
			assertNoSecret(t, err.Error())
		})
	}
}

// assertNoSecret fails if s holds secret32 in any of its encodings, or a
// 16-character piece of one.
func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, enc := range []string{string(secret32), hex.EncodeToString(secret32), base64.StdEncoding.EncodeToString(secret32)} {
		for i := 0; i+16 <= len(enc); i += 8 {
			if strings.Contains(s, enc[i:i+16]) {
				t.Fatalf("%q shows part of the secret", s)
			}
		}
	}
}

func TestKeyEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	k := GenerateKey(42)
	if len(k.Secret) != MinSecretLen || k.ID != 42 {
		t.Fatalf("GenerateKey: got id %d and %d bytes; want 42 and %d", k.ID, len(k.Secret), MinSecretLen)
	}
	if o := GenerateKey(42); bytes.Equal(o.Secret, k.Secret) {
		t.Fatal("two generated keys have the same secret")
	}
	got, err := ParseKeys(k.Encode())
	if err != nil || len(got) != 1 || got[0].ID != 42 || !bytes.Equal(got[0].Secret, k.Secret) {
		t.Fatalf("ParseKeys(Encode()): got %v, %v; want the key back", got, err)
	}
}

// Printing a Key, alone or inside a struct, shows no secret.
func TestKeyStringRedacts(t *testing.T) {
	t.Parallel()
	k := Key{ID: 3, Secret: secret32}
	holder := struct{ Keys []Key }{[]Key{k}}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, arg := range []any{k, &k, holder, &holder} {
			s := fmt.Sprintf(format, arg)
			assertNoSecret(t, s)
			if !strings.Contains(s, "redacted") {
				t.Errorf("%s of %T: got %q; want the redacted form", format, arg, s)
			}
		}
	}
}

func TestReadKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "key")
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(good, []byte("# warp\n5:"+hex.EncodeToString(secret32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, append([]byte("5:"), secret32[:20]...), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := ReadKeyFile(good)
	if err != nil || len(keys) != 1 || keys[0].ID != 5 {
		t.Fatalf("ReadKeyFile: got %v, %v; want key 5", keys, err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing")} {
		if _, err := ReadKeyFile(path); !errors.Is(err, ErrBadKey) {
			t.Errorf("ReadKeyFile(%s): got %v; want ErrBadKey", path, err)
		} else {
			assertNoSecret(t, err.Error())
		}
	}
}

// TestLoadKeys sets environment variables, so it does not run in parallel.
func TestLoadKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "key")
	hx := hex.EncodeToString(secret32)
	if err := os.WriteFile(file, []byte("9:"+hx), 0o600); err != nil {
		t.Fatal(err)
	}
	const name = "WARP_TEST_CLUSTER_KEY"
	tests := []struct {
		name         string
		inline, path string // "" = unset
		wantID       int    // -1: an error is expected
	}{
		{"inline", "4:" + hx, "", 4},
		{"file", "", file, 9},
		{"both", "4:" + hx, file, -1},
		{"neither", "", "", -1},
		{"bad inline", "4:" + hx[:40], "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setenv(t, name, tt.inline)
			setenv(t, name+"_FILE", tt.path)
			keys, err := LoadKeys(name)
			if tt.wantID < 0 {
				if !errors.Is(err, ErrBadKey) {
					t.Fatalf("got %v, %v; want ErrBadKey", keys, err)
				}
				assertNoSecret(t, err.Error())
				return
			}
			if err != nil || len(keys) != 1 || int(keys[0].ID) != tt.wantID {
				t.Fatalf("got %v, %v; want key %d", keys, err, tt.wantID)
			}
		})
	}
}

// setenv sets name to v for the test, or unsets it if v is empty.
func setenv(t *testing.T, name, v string) {
	t.Helper()
	t.Setenv(name, v) // registers the restore
	if v == "" {
		if err := os.Unsetenv(name); err != nil {
			t.Fatal(err)
		}
	}
}
