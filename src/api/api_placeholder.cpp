// api module (implementation in progress)
