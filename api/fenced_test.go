package api

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// DeleteFenced refuses a token older than one the store accepted for the
// key, deletes with a newer one (a later Get finds nothing), and leaves a
// tombstone whose token still fences a late holder's write; in every mode.
func TestDeleteFenced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, mode := range []Mode{ModeStrongLocal, ModeEventualDistributed, ModeStrongDistributed} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			st := memory.New[string](memory.Options{})
			w := newWarp(t, st)
			if err := w.Register("k", mode, time.Hour); err != nil {
				t.Fatal(err)
			}
			if err := w.SetFenced(ctx, "k", "v5", 5); err != nil {
				t.Fatal(err)
			}
			if v, err := w.Get(ctx, "k"); err != nil || v != "v5" {
				t.Fatalf("Get = %q, %v; want v5", v, err)
			}
			if err := w.DeleteFenced(ctx, "k", 3); !errors.Is(err, store.ErrFenced) {
				t.Fatalf("DeleteFenced with an older token: got %v; want store.ErrFenced", err)
			}
			if v, err := w.Get(ctx, "k"); err != nil || v != "v5" {
				t.Fatalf("after the refused delete, Get = %q, %v; want v5", v, err)
			}
			if err := w.DeleteFenced(ctx, "k", 6); err != nil {
				t.Fatalf("DeleteFenced with a newer token: %v", err)
			}
			if v, err := w.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("after the delete, Get = %q, %v; want ErrNotFound", v, err)
			}
			if err := w.SetFenced(ctx, "k", "late", 5); !errors.Is(err, store.ErrFenced) {
				t.Fatalf("a late holder's write after the delete: got %v; want store.ErrFenced", err)
			}
		})
	}
}

// Txn.Fence makes the whole commit carry the token: refused (nothing
// applied) if any key saw a larger one.
func TestTxnFenced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memory.New[string](memory.Options{})
	w := newWarp(t, st)
	if err := w.Register("*", ModeStrongLocal, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := w.SetFenced(ctx, "b", "b7", 7); err != nil {
		t.Fatal(err)
	}
	txn := w.Txn(ctx)
	txn.Fence(5)
	txn.Set("a", "a5")
	txn.Set("b", "b5")
	if err := txn.Commit(); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a transaction fenced below b's token: got %v; want store.ErrFenced", err)
	}
	if _, err := w.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a written by the refused transaction: %v", err)
	}
	txn = w.Txn(ctx)
	txn.Fence(8)
	txn.Set("a", "a8")
	txn.Delete("b")
	if err := txn.Commit(); err != nil {
		t.Fatalf("a transaction fenced above: %v", err)
	}
	if v, _ := w.Get(ctx, "a"); v != "a8" {
		t.Fatalf("a = %q; want a8", v)
	}
	if _, err := w.Get(ctx, "b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("b after the fenced delete: %v; want ErrNotFound", err)
	}
}

// A transaction of more than MaxTxnOps operations fails with ErrTooLarge
// and writes nothing.
func TestTxnMaxOps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWarp(t, memory.New[string](memory.Options{}))
	if err := w.Register("*", ModeStrongLocal, time.Hour); err != nil {
		t.Fatal(err)
	}
	txn := w.Txn(ctx)
	for i := range MaxTxnOps + 1 {
		txn.Set("k"+string(rune('a'+i%26))+string(rune(i)), "v")
	}
	if err := txn.Commit(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a transaction of %d operations: got %v; want ErrTooLarge", MaxTxnOps+1, err)
	}
	if _, err := w.Get(ctx, "ka\x00"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a key of the refused transaction: %v; want ErrNotFound", err)
	}
}
