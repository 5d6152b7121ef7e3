// generate module (implementation in progress)
