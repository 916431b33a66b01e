// Package store is syncd's memory: runs, actions, links, source snapshots and
// approvals, behind one Store interface with PostgreSQL and SQLite backends that pass
// one conformance suite.
package store
