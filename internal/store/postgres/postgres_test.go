package postgres_test

import (
	"testing"

	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/postgres"
	"github.com/sharedcare/sharedcare/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return postgres.OpenTest(t) })
}

func BenchmarkRead(b *testing.B) { storetest.BenchRead(b, postgres.OpenTest(b)) }

func BenchmarkCreateParallel(b *testing.B) { storetest.BenchCreateParallel(b, postgres.OpenTest(b)) }

func BenchmarkBulk300(b *testing.B) { storetest.BenchBulk(b, postgres.OpenTest(b)) }
