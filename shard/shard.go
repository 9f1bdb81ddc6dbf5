package shard

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/allegro/bigcache/v3"
	"github.com/asynkron/protoactor-go/actor"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages"
)

// Props returns the props that spawn the actor owning v on dispatcher d,
// with mailboxes from mb. Failures restart the actor, which starts with an
// empty cache and a higher generation.
func Props(v *View, d actor.Dispatcher, mb actor.MailboxProducer) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return newShard(v) },
		actor.WithDispatcher(d),
		actor.WithMailbox(mb),
		actor.WithGuardian(actor.NewRestartingStrategy()),
		actor.WithOnInit(func(ctx actor.Context) { v.pid.Store(ctx.Self()) }),
	)
}

// shard is the actor. Its fields are touched only inside Receive.
type shard struct {
	v     *View
	locks map[string]*keyLock
	iter  *bigcache.EntryInfoIterator
	// fences hold the tokens of the strong writes in flight, per key. The
	// map lives in the View so that it survives a restart: forgetting a
	// fence could let an old value back in.
	fences map[string][]fence
}

// fence is one in-flight write's token: how many times it was added (two
// writers may pick the same version) and until when it holds.
type fence struct {
	token merge.Version
	count int
	until int64
}

// keyLock is a held key lock: the request it was granted to and the ones
// waiting, each known by its message (a reply slot can be pooled and
// reused by a later request while the lock is held; a message cannot).
type keyLock struct {
	holder  *messages.LockKey
	waiters []*messages.LockKey
}

func newShard(v *View) *shard {
	for i := range v.gens {
		v.gens[i].maxVer = 0 // a restarted shard is empty
	}
	return &shard{v: v, locks: map[string]*keyLock{}, fences: v.fences}
}

// Receive implements actor.Actor.
func (s *shard) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.started()
	case *actor.Stopping:
		s.failWaiters(ErrStopped)
	case actor.SystemMessage, actor.AutoReceiveMessage:
	default:
		s.handle(m)
	}
}

// started runs when the actor starts and after every restart. A restart
// empties the cache: the failed actor may have left it half updated.
func (s *shard) started() {
	if s.v.started {
		gen := s.v.restarts.Add(1)
		s.v.cfg.Logger.Warn("shard restarted after a panic", slog.Int("shard", s.v.cfg.Index), slog.Uint64("generation", gen))
		s.flush()
	}
	s.v.started = true
}

func (s *shard) handle(msg any) {
	defer func() {
		if r := recover(); r != nil {
			s.fail(msg, r)
			panic(r) // let the guardian restart the actor
		}
	}()
	if s.v.cfg.OnReceive != nil {
		s.v.cfg.OnReceive(msg)
	}
	switch m := msg.(type) {
	case *messages.Install:
		m.Reply.Send(s.install(m.Key, m.Entry, m.Gen, true))
	case *messages.Fill:
		m.Reply.Send(s.install(m.Key, m.Entry, m.Gen, false))
	case *messages.Invalidate:
		m.Reply.Send(s.invalidate(m.Key, m.Version))
	case *messages.Fence:
		m.Reply.Send(s.fence(m))
	case *messages.TxnFence:
		for _, k := range m.Keys {
			s.fence(&messages.Fence{Key: k, Token: m.Token, Until: m.Until})
		}
		m.Reply.Send(messages.Result{Applied: true})
	case *messages.TxnCommit:
		s.txnCommit(m)
		m.Reply.Send(messages.Result{Applied: true})
	case *messages.InvalidatePrefix:
		s.invalidatePrefix(m.Prefix)
		m.Reply.Send(messages.Result{Applied: true})
	case *messages.Flush:
		if m.Keep != nil {
			s.flushKeeping(m.Keep)
		} else {
			s.flush()
		}
		m.Reply.Send(messages.Result{Applied: true})
	case *messages.Promote:
		s.promote(m.Key)
	case *messages.Sweep:
		s.sweep(m.Now, m.Budget)
	case *messages.LockKey:
		s.lock(m)
	case *messages.UnlockKey:
		s.unlock(m)
	case *messages.AbandonLock:
		s.abandon(m)
	default:
		s.v.cfg.Logger.Error("shard: unknown message", slog.String("type", fmt.Sprintf("%T", msg)))
	}
}

// fail answers everyone the failed actor owed an answer: the request that
// panicked and every waiter of a key lock, whose state is about to be lost.
func (s *shard) fail(msg any, r any) {
	err := fmt.Errorf("%w: %v", ErrRestarted, r)
	if rep := replyOf(msg); rep != nil {
		rep.Send(messages.Result{Err: err})
	}
	s.failWaiters(err)
}

// failWaiters answers every waiter of a key lock with err.
func (s *shard) failWaiters(err error) {
	for _, l := range s.locks {
		for _, w := range l.waiters {
			w.Reply.Send(messages.Result{Err: err})
		}
	}
	s.locks = map[string]*keyLock{}
}

// replyOf returns the reply slot of a request, nil for a message nobody
// waits for.
func replyOf(msg any) *messages.Reply {
	if r, ok := msg.(messages.Request); ok {
		return r.ReplySlot()
	}
	return nil
}

func (s *shard) stripe(h uint64) uint64 { return (h >> 32) & s.v.stripeMask }

// current returns the header of key's cached entry.
func (s *shard) current(key string) (Header, []byte, bool) {
	b, err := s.v.cache.Get(key)
	if err != nil {
		return Header{}, nil, false
	}
	h, val, err := ParseHeader(b)
	return h, val, err == nil
}

// txnCommit ends a transaction on this shard (see [messages.TxnCommit]).
// An entry whose stripe moved since the fence was taken (Gens[i]) is not
// installed, and the key's copy is dropped instead: a write or
// invalidation of the key during the fence may be newer than the
// transaction's, and a copy filled after the fence expired may be older,
// so the next read loads the store's value. The stripes are checked
// before any token is released, since a release moves its stripe.
func (s *shard) txnCommit(m *messages.TxnCommit) {
	var moved []int // checked before any drop, which moves its stripe too
	for i, k := range m.Keys {
		if m.Entries[i] != nil && (i >= len(m.Gens) || s.v.gens[s.stripe(s.v.Hash(k))].gen.Load() != m.Gens[i]) {
			moved = append(moved, i)
		}
	}
	for _, i := range moved {
		h := s.v.Hash(m.Keys[i])
		m.Entries[i] = nil
		s.drop(m.Keys[i], h, s.stripe(h))
		s.v.stats.StaleFills.Add(1)
	}
	for i, k := range m.Keys {
		s.fence(&messages.Fence{Key: k, Token: m.Token, Release: true})
		if m.Entries[i] != nil {
			h := s.v.Hash(k)
			s.install(k, m.Entries[i], s.v.gens[s.stripe(h)].gen.Load(), true)
		}
	}
}

// install stores a written (write) or loaded (fill) entry read or written
// when the key's stripe was at generation gen. If the stripe moved since, a
// fill is dropped, and a write drops the cached copy instead (the store may
// hold a newer value that this node was told about). An entry never
// replaces a newer version. A write moves the stripe whatever it installs,
// so no load that began before it lands or is joined by a later reader
// (api's Get coalesces loads by key and generation).
func (s *shard) install(key string, entry []byte, gen uint64, write bool) messages.Result {
	hdr, _, err := ParseHeader(entry)
	if err != nil {
		return messages.Result{Err: err}
	}
	h := s.v.Hash(key)
	st := s.stripe(h)
	moved := s.v.gens[st].gen.Load() != gen
	if moved && !write || s.fenced(key) {
		if write {
			// Refused under a fence: a fill or a transaction's commit
			// that read before this write must not land either.
			s.v.gens[st].gen.Add(1)
		}
		s.v.stats.StaleFills.Add(1)
		return messages.Result{}
	}
	if moved || hdr.Version <= s.v.gens[st].maxVer {
		if cur, _, ok := s.current(key); ok && cur.Version >= hdr.Version {
			if write {
				s.v.gens[st].gen.Add(1)
			}
			return messages.Result{Version: cur.Version}
		}
	}
	if moved {
		s.drop(key, h, st)
		return messages.Result{Version: hdr.Version}
	}
	if write {
		s.v.gens[st].gen.Add(1) // fills that loaded before this write must not land
		s.v.stats.Installs.Add(1)
	} else {
		s.v.stats.Fills.Add(1)
	}
	if err := s.v.cache.Set(key, entry); err != nil {
		s.drop(key, h, st)
		return messages.Result{Err: fmt.Errorf("%w: %d bytes: %w", ErrTooLarge, len(entry), err)}
	}
	s.v.gens[st].maxVer = max(s.v.gens[st].maxVer, hdr.Version)
	// A write clears the key's hot way rather than decoding into it: the
	// next read promotes the new value, so writes pay no decode.
	s.unhot(key, h)
	return messages.Result{Version: hdr.Version, Applied: true}
}

// publishHot decodes key's value (hash h) into the hot tier: into the way
// that holds key, else an empty one, else the set's next victim. The only
// place an entry enters the hot tier (see unhot).
func (s *shard) publishHot(key string, h uint64, hdr Header, val []byte) {
	if !s.v.hotOn || hdr.Flags&FlagNegative != 0 {
		s.unhot(key, h)
		return
	}
	si := h & s.v.hotMask
	set, t := &s.v.hot[si], hotTag(h)
	way, _ := set.find(key, t)
	for i := 0; way < 0 && i < hotWays; i++ {
		if set.slot[i].tag.Load() == 0 {
			way = i
		}
	}
	victim := way < 0
	if victim {
		way = int(s.v.hotNext[si])
	}
	size := len(key) + len(val) + hotEntryOverhead
	old := 0
	if e := set.slot[way].e.Load(); e != nil {
		old = e.Size
	}
	if max := s.v.cfg.HotMaxBytes; max > 0 && s.v.hotBytes-old+size > max {
		s.unhot(key, h) // over the budget: served from bigcache
		return
	}
	e, err := s.v.cfg.NewHot(key, hdr, val)
	if err != nil {
		s.unhot(key, h)
		return
	}
	if victim {
		s.v.hotNext[si] = uint8(way+1) % hotWays
	}
	e.Size = size
	s.v.hotBytes += size - old
	set.slot[way].put(e, t)
}

// hotEntryOverhead is what a hot entry costs beyond its key and encoded
// value, in the estimate that HotMaxBytes bounds: the entry, the decoded
// value's headers and the allocator's rounding.
const hotEntryOverhead = 128

// invalidate drops key's entry unless it is at least version v (v == 0:
// always), and moves the stripe generation so no older fill lands.
func (s *shard) invalidate(key string, v merge.Version) messages.Result {
	h := s.v.Hash(key)
	st := s.stripe(h)
	// Every entry of the stripe is at most its maxVer: a newer v (the
	// common case, another node's fresh write) drops without reading.
	if v != 0 && v <= s.v.gens[st].maxVer {
		if cur, _, ok := s.current(key); ok && cur.Version >= v {
			return messages.Result{Version: cur.Version}
		}
	}
	s.drop(key, h, st)
	s.v.stats.Invalidations.Add(1)
	return messages.Result{Applied: true}
}

// drop removes key from the cache and the hot tier and moves its stripe.
func (s *shard) drop(key string, h, st uint64) {
	s.v.gens[st].gen.Add(1)
	if err := s.v.cache.Delete(key); err != nil && !errors.Is(err, bigcache.ErrEntryNotFound) {
		s.v.cfg.Logger.Error("shard: delete", slog.String("key", key), slog.Any("err", err))
	}
	s.unhot(key, h)
}

// unhot empties key's way (hash h) of its hot-tier set, if it holds key.
// Every entry enters through publishHot, which tags its slot with its key's
// hash, so a slot whose tag is not h's cannot hold key: a write reads its
// set's line of tags and no other key's entry.
func (s *shard) unhot(key string, h uint64) {
	set := &s.v.hot[h&s.v.hotMask]
	if i, e := set.find(key, hotTag(h)); i >= 0 {
		s.v.hotBytes -= e.Size
		set.slot[i].clear()
	}
}

func (s *shard) invalidatePrefix(prefix string) {
	// Loads of matching keys that are not cached yet must not fill either:
	// which stripes they hash to is unknown, so every stripe moves.
	s.moveStripes()
	keys := s.keys(func(k string) bool { return strings.HasPrefix(k, prefix) })
	for _, k := range keys {
		h := s.v.Hash(k)
		s.drop(k, h, s.stripe(h))
	}
	s.clearHot(func(e *HotEntry) bool { return strings.HasPrefix(e.Key, prefix) })
	s.v.stats.Invalidations.Add(uint64(len(keys)))
}

// keys returns the cached keys that match accepts.
func (s *shard) keys(match func(string) bool) []string {
	var keys []string
	for it := s.v.cache.Iterator(); it.SetNext(); {
		if e, err := it.Value(); err == nil && match(e.Key()) {
			keys = append(keys, e.Key())
		}
	}
	return keys
}

// clearHot empties the hot slots whose entry match accepts (nil: every
// slot). An empty slot is not stored to.
func (s *shard) clearHot(match func(*HotEntry) bool) {
	for si := range s.v.hot {
		set := &s.v.hot[si]
		for i := range set.slot {
			if e := set.slot[i].e.Load(); e != nil && (match == nil || match(e)) {
				s.v.hotBytes -= e.Size
				set.slot[i].clear()
			}
		}
	}
}

// moveStripes moves every stripe's fill generation: no fill that loaded
// before lands.
func (s *shard) moveStripes() {
	for i := range s.v.gens {
		s.v.gens[i].gen.Add(1)
	}
}

// flushOneByOne is the entry count up to which a flush deletes entries
// rather than reset the cache.
const flushOneByOne = 256

// flush empties the shard and moves every stripe. It runs on the bus
// actor's path (a repair), and bigcache's Reset reallocates the maps of
// all its shards, which cost a lightly filled node milliseconds per
// flush: an empty cache is left alone and a few entries are deleted one
// by one.
func (s *shard) flush() {
	s.moveStripes()
	if n := s.v.cache.Len(); n > 0 && n <= flushOneByOne {
		for _, k := range s.keys(func(string) bool { return true }) {
			_ = s.v.cache.Delete(k)
		}
	}
	if s.v.cache.Len() > 0 {
		if err := s.v.cache.Reset(); err != nil {
			s.v.cfg.Logger.Error("shard: reset", slog.Any("err", err))
		}
	}
	s.clearHot(nil)
	s.iter = nil
}

// flushKeeping drops every entry but those keep accepts, whose expiry it
// caps. Every stripe moves, as in flush.
func (s *shard) flushKeeping(keep func(string) (int64, bool)) {
	type capped struct {
		key   string
		entry []byte
	}
	var drop []string
	var kept []capped
	it := s.v.cache.Iterator()
	for it.SetNext() {
		e, err := it.Value()
		if err != nil {
			continue
		}
		until, ok := keep(e.Key())
		hdr, val, perr := ParseHeader(e.Value())
		if !ok || perr != nil {
			drop = append(drop, e.Key())
			continue
		}
		hdr.Expiry = min(hdr.Expiry, until)
		kept = append(kept, capped{e.Key(), append(AppendHeader(nil, hdr), val...)})
	}
	for _, k := range drop {
		_ = s.v.cache.Delete(k)
	}
	for _, c := range kept {
		_ = s.v.cache.Set(c.key, c.entry)
	}
	s.moveStripes()
	s.clearHot(nil)
	s.iter = nil
}

func (s *shard) promote(key string) {
	hdr, val, ok := s.current(key)
	if !ok {
		return
	}
	h := s.v.Hash(key)
	if e := s.v.Hot(key, h); e != nil && e.Version == hdr.Version {
		return
	}
	s.publishHot(key, h, hdr, val)
	s.v.stats.Promotions.Add(1)
}

// sweep walks the cache a budget at a time and drops expired entries.
func (s *shard) sweep(now int64, budget int) {
	s.dropExpiredFences(now)
	if s.iter == nil {
		s.iter = s.v.cache.Iterator()
	}
	var expired []string
	for n := 0; n < budget; n++ {
		if !s.iter.SetNext() {
			s.iter = nil
			break
		}
		e, err := s.iter.Value()
		if err != nil {
			continue
		}
		if h, _, err := ParseHeader(e.Value()); err != nil || !h.Live(now) {
			expired = append(expired, e.Key())
		}
	}
	for _, k := range expired {
		if h, _, ok := s.current(k); ok && h.Live(now) {
			continue // rewritten since the iterator's copy
		}
		kh := s.v.Hash(k)
		s.drop(k, kh, s.stripe(kh))
		s.v.stats.Expired.Add(1)
	}
}

func (s *shard) lock(m *messages.LockKey) {
	if l, held := s.locks[m.Key]; held {
		l.waiters = append(l.waiters, m)
		return
	}
	s.locks[m.Key] = &keyLock{holder: m}
	m.Reply.Send(messages.Result{Applied: true, Gen: s.v.restarts.Load()})
}

func (s *shard) unlock(m *messages.UnlockKey) {
	if m.Gen != s.v.restarts.Load() {
		return // granted by an actor that has since restarted
	}
	s.handOn(m.Key)
}

// handOn passes key's held lock to its first waiter, or frees it.
func (s *shard) handOn(key string) {
	l, held := s.locks[key]
	if !held {
		return
	}
	if len(l.waiters) == 0 {
		delete(s.locks, key)
		return
	}
	next := l.waiters[0]
	l.waiters = l.waiters[1:]
	l.holder = next
	next.Reply.Send(messages.Result{Applied: true, Gen: s.v.restarts.Load()})
}

// abandon withdraws a lock request whose sender stopped waiting: out of
// the queue, or, granted meanwhile, released. A request this actor does
// not know (answered by a restart) needs nothing.
func (s *shard) abandon(m *messages.AbandonLock) {
	l, held := s.locks[m.Key]
	if !held || m.Request == nil {
		return
	}
	if l.holder == m.Request {
		s.handOn(m.Key)
		return
	}
	if i := slices.Index(l.waiters, m.Request); i >= 0 {
		l.waiters = slices.Delete(l.waiters, i, i+1)
	}
}

// fence adds or releases a write's token on m.Key.
func (s *shard) fence(m *messages.Fence) messages.Result {
	h := s.v.Hash(m.Key)
	tokens := s.fences[m.Key]
	if m.Release {
		for i := range tokens {
			if tokens[i].token == m.Token {
				if tokens[i].count--; tokens[i].count <= 0 {
					tokens = slices.Delete(tokens, i, i+1)
				}
				break
			}
		}
		if len(tokens) == 0 {
			delete(s.fences, m.Key)
		} else {
			s.fences[m.Key] = tokens
		}
		s.v.fenced.Store(int64(len(s.fences)))
		s.v.gens[s.stripe(h)].gen.Add(1)
		return messages.Result{Applied: true}
	}
	found := false
	for i := range tokens {
		if tokens[i].token == m.Token {
			tokens[i].count++
			tokens[i].until = max(tokens[i].until, m.Until)
			found = true
		}
	}
	switch {
	case found:
		s.fences[m.Key] = tokens
	case len(tokens) >= s.v.cfg.MaxFenceTokens || len(tokens) == 0 && len(s.fences) >= s.v.cfg.MaxFences:
		// Beyond the bound: not recorded, so nothing is cached until the
		// fence would have expired.
		s.v.fenceAll = max(s.v.fenceAll, m.Until)
		s.v.stats.FenceOverflows.Add(1)
	default:
		s.fences[m.Key] = append(tokens, fence{token: m.Token, count: 1, until: m.Until})
		s.v.fenced.Store(int64(len(s.fences)))
	}
	s.drop(m.Key, h, s.stripe(h))
	s.v.stats.Invalidations.Add(1)
	return messages.Result{Applied: true}
}

// fenced reports whether a live fence forbids caching key.
func (s *shard) fenced(key string) bool {
	if len(s.fences) == 0 && s.v.fenceAll == 0 {
		return false // the common write: no clock read
	}
	now := s.now()
	if s.v.fenceAll != 0 {
		if now < s.v.fenceAll {
			return true
		}
		s.v.fenceAll = 0 // passed: writes take the fast path above again
	}
	tokens, ok := s.fences[key]
	if !ok {
		return false
	}
	live := tokens[:0]
	for _, t := range tokens {
		if now < t.until {
			live = append(live, t)
		}
	}
	if len(live) == 0 {
		delete(s.fences, key)
		s.v.fenced.Store(int64(len(s.fences)))
		return false
	}
	s.fences[key] = live
	return true
}

func (s *shard) now() int64 {
	if s.v.cfg.Now == nil {
		return 0
	}
	return s.v.cfg.Now()
}

// dropExpiredFences forgets tokens whose time is up, and fenceAll once it
// has passed.
func (s *shard) dropExpiredFences(now int64) {
	if now >= s.v.fenceAll {
		s.v.fenceAll = 0
	}
	for k, tokens := range s.fences {
		live := tokens[:0]
		for _, t := range tokens {
			if now < t.until {
				live = append(live, t)
			}
		}
		if len(live) == 0 {
			delete(s.fences, k)
		} else {
			s.fences[k] = live
		}
	}
	s.v.fenced.Store(int64(len(s.fences)))
}
