// index module (implementation in progress)
