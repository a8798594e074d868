package s3conn

// ReadAhead lets the SDK read the next page while the host forwards the
// last one (sdk.ReadAheader). The host's rate limit still paces the flow:
// every page is still one metered call, and a page read ahead is at most
// one page early. A SlowDown answer to a read-ahead is dropped and the
// page read again under the host's own call, which sees it.
func (c *Connector) ReadAhead() bool { return true }
