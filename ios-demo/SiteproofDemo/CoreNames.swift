// The bindings' `Network` enum under a name that cannot clash with Apple's `Network` module.
// This file must not import Network.
typealias CoreNetwork = Network
