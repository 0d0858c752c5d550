from .central_system import OcppConsumer

__all__ = ["OcppConsumer"]
