// chunk module (implementation in progress)
