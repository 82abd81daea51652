package search

// SetReindexHooks lets the external tests act between the phases of a
// reindex: after the bulk pass, and just before the alias swap.
func SetReindexHooks(ix *Indexer, afterBulk, beforeSwap func()) {
	ix.afterBulk, ix.beforeSwap = afterBulk, beforeSwap
}
