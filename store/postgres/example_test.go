package postgres_test

import (
	"context"
	"fmt"
	"log"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/postgres"
)

// This example needs a PostgreSQL server, so it is compiled but not run.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	type user struct{ Name string }
	users, err := postgres.New[user](ctx, pool, nil, postgres.Config{Table: "users", History: 8})
	if err != nil {
		log.Fatal(err)
	}
	v, err := users.Set(ctx, "user/1", user{"Ada"}, store.Write{Check: true}) // create if absent
	if err != nil {
		log.Fatal(err)
	}
	it, err := users.Get(ctx, "user/1")
	fmt.Println(it.Value.Name, it.Version == v, err)
}
