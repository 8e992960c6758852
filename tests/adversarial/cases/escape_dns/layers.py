# Attack: resolve a name (DNS is the classic exfiltration channel). The lookup is attempted only
# when no interface but loopback is visible, so this test never sends a query off the machine.
import socket as _socket

_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    interfaces = sorted(name for _, name in _socket.if_nameindex())
    if interfaces != ["lo"]:
        print("ESCAPED network interfaces visible:", interfaces)
        return np.zeros(1), None
    try:
        address = _socket.getaddrinfo("example.com", 80)
        print("ESCAPED resolved", address[:1])
        return np.zeros(1), None
    except OSError as exc:
        print("lookup failed:", type(exc).__name__)
    return _original_conv_forward_naive(x, w, b, conv_param)
