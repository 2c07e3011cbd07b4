package postgres_test

import (
	"testing"

	"github.com/sharedcare/sharedcare/internal/store"
	"github.com/sharedcare/sharedcare/internal/store/postgres"
	"github.com/sharedcare/sharedcare/internal/store/storetest"
)

func TestBulk(t *testing.T) {
	storetest.RunBulk(t, func(t *testing.T) store.Store { return postgres.OpenTest(t) })
}
