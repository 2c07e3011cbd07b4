package sqlite

// SetWALLimit lowers the log size past which the writer starts the log
// over, so a test can reach it with little data.
func SetWALLimit(s *Store, frames int64) { s.walLimit.Store(frames) }

// LogRestarts is how many times the writer started the log over.
func LogRestarts(s *Store) int64 { return s.restarts.Load() }
