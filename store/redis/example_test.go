package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	goredis "github.com/redis/go-redis/v9"

	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/redis"
)

// This example needs a Redis server, so it is compiled but not run.
func ExampleNew() {
	ctx := context.Background()
	// ContextTimeoutEnabled: calls end with their context (Store.Join
	// refuses a client without it).
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer client.Close()

	counters, err := redis.New[int](client, nil, redis.Config{Prefix: "app:counters:"})
	if err != nil {
		log.Fatal(err)
	}
	// A compare-and-swap increment loop.
	for {
		it, err := counters.Get(ctx, "hits")
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			log.Fatal(err)
		}
		_, err = counters.Set(ctx, "hits", it.Value+1, store.Write{Check: true, IfVersion: it.Version})
		if !errors.Is(err, store.ErrConflict) {
			fmt.Println(err)
			break
		}
	}
}
