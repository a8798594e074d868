package memconn

// ReadAhead lets the SDK read the next page while the host forwards the
// last one (sdk.ReadAheader): the pages are generated in memory, nothing
// the host meters. It is off while a `faults` block is set, so that every
// fault drawn is one the host's own call sees (a failed read-ahead would
// be read again, and draw again, under the host's call).
func (c *Connector) ReadAhead() bool {
	cfg := c.cfg.Load()
	return cfg == nil || cfg.faults == nil
}
