"""An EventBridge stand-in: ActionTrail API-call CloudEvents in the documented shape, delivered at least once."""

from emulators.eventbridge.standin import EventBridgeStandIn, api_call_event, event_from_call

__all__ = ["EventBridgeStandIn", "api_call_event", "event_from_call"]
