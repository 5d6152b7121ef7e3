// store module (implementation in progress)
