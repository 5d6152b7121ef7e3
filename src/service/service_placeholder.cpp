// service module (implementation in progress)
