"""The call path: AMI codec and client, call sessions and flows, the controller, the local PBX."""
